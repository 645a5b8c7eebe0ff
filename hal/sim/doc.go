// Package sim is a simulated Turing Pi board: 4 slots like a Turing Pi 2 or
// 7 like a Turing Pi 1, with every capability of package hal. `bmcd --board
// sim` runs on it, and the tests of package bmc use it.
//
// Its state is real state: a slot switched on stays on until switched off,
// and, when Opts.StatePath is set, it outlives the daemon the way a real
// board's power outlives a restart of bmcd. Every hardware transition is
// recorded with its time so a test can assert exactly what happened and in
// which order ([Board.Transitions]); [Board.InjectFault] makes the next
// operation on a slot fail, to exercise the failure paths.
//
// # USB
//
// With [Opts.USB] the slots hold compute modules on a simulated USB bus
// (package usbsim), wired as the board's USB is ([USBTopology]): behind
// the Turing Pi 2 v2.4's multiplexer, which connects the slot configured
// last, or on the v2.5's hub, whose one uplink connects every slot at
// once, to the controller or to the connector. A module samples its USB
// boot strap when it powers up (or is reset), as a CM4 does: one powered
// up with the strap asserted runs its boot ROM until it is powered off,
// whatever the strap does afterwards, and is on the bus whenever its USB
// reaches the controller. The board creates the modules' eMMC files.
//
// # The whole board
//
// [Open] assembles what `bmcd --board sim` runs on: the board with its
// modules on a simulated USB bus, each slot's UART a pseudo-terminal
// whose node (package simconsole) boots when the slot is powered and
// restarts when it is reset ([Nodes]), and the eMMC files, USB device
// tree and state file under one directory. The board reports its USB
// topology (hal.USBTopology): on the hub, slots flash at once.
//
// # Prepared nodes
//
// With [AssemblyOpts.Seed] a node reads its eMMC file at each power-on for
// the first-boot seed a flash wrote (hal imports no other part of bmcd, so
// the reader is handed in: bmcd adapts flasher/firstboot). A prepared
// node names itself after the seed in its boot log and login prompt,
// prints the seed's marker line with its SSH address, and runs an SSH
// server (package simssh) on its own loopback address, by default
// 127.0.1.<slot> port 2200+<slot> ([DefaultSSHAddr]), that presents the
// seeded host key and admits only the seeded user's keys. Power-off and
// reset stop the server and its sessions. An unprepared image boots as
// before, without SSH.
//
// The prepared nodes of one board share a simulated k3s ([simssh.K3s]):
// the k3s install line run on one slot can create a cluster that the
// others join by its address. A server slot serves the cluster's
// Kubernetes API on its address, port 6443, for kubectl with the
// kubeconfig bmcd fetched. The installs are kept in the state
// directory (sim-k3s.json), as on the nodes' disks: power off and on
// keeps them (the node shows NotReady while off), so does a restart or
// crash of bmcd, and writing the slot's eMMC file again (a flash) wipes
// the slot's. While [InstallHangPath]'s file exists, a k3s install on the
// slot never returns until killed (a fault for tests).
package sim
