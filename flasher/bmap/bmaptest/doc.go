// Package bmaptest builds bmap files for tests, the way bmaptool create
// maps a sparse file: blocks that are all zeros are holes. Its output
// matches bmaptool 3.6's ranges and checksums (checked in package bmap's
// tests), and bmaptool copy accepts its 1.0, 1.3 and 2.0 files.
package bmaptest
