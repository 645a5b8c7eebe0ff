// Package tlscert gives bmcd its TLS certificate: the operator's own
// certificate and key when configured, else a self-signed one generated
// at the first start and kept in the state directory.
//
// The generated certificate has an ECDSA P-256 key and names the board
// as a phone or a laptop on the LAN reaches it: its host name, that name
// under .local (mDNS), every address of its network interfaces, and
// localhost. It is kept across restarts, and across changes of address,
// because clients pin its fingerprint (bmcctl login, like SSH's
// known_hosts): a new certificate means every client must confirm it
// again. Deleting the two files makes bmcd generate a new one.
package tlscert
