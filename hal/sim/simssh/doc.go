// Package simssh is the SSH server of a simulated compute module: the sshd
// of a node prepared at flash time (see package flasher/firstboot), reduced
// to what bmcd and its users need from a node over SSH.
//
// It presents the seeded ed25519 host key and nothing else, accepts public
// keys only (no password, no keyboard-interactive) and only the seeded
// user's authorized keys, and runs commands from a table ([Commands]):
// the commands a bootstrap asks a node (hostname, uname -m, id -un, cat
// /etc/os-release, true, …) and bmcd's preflight checks (timedatectl,
// cgroup v2 controllers, test -e, df -Pk), one per "exec" request, or line by line in a
// shell (with a prompt and line editing when the client asked for a pty,
// as `ssh user@node` does). An unknown command fails with exit status 127
// and "sh: 1: <name>: not found", as dash does; exit [n] ends a shell.
// Lines may chain commands with ";" and "&&"; $$ expands to the shell's
// process id and >&2 sends a command's output to stderr, as bmcd's wire
// prefix (echo …$$ >&2; cmd) needs.
//
// [Server.Close] stops listening and closes every connection, as a node
// losing power does.
package simssh
