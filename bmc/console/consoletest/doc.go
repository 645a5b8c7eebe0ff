// Package consoletest gives tests a real pseudo-terminal standing in for
// a compute module's UART: the code under test opens its slave as it
// opens /dev/ttyS1 on a board, and the test plays the node on its master.
package consoletest
