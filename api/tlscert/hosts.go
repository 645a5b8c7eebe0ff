package tlscert

import (
	"net"
	"os"
	"strings"
)

// LocalHosts are the names and addresses this machine is reached by:
// its host name and that name under .local (mDNS), the addresses of its
// network interfaces other than loopback, and localhost, 127.0.0.1 and
// ::1. Link-local IPv6 addresses are left out: a URL cannot name them
// without a zone, which a certificate cannot hold.
func LocalHosts() []string {
	var hosts []string
	if name, err := os.Hostname(); err == nil && name != "" && name != "localhost" {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		short, _, _ := strings.Cut(name, ".")
		hosts = append(hosts, name)
		if short != name {
			hosts = append(hosts, short)
		}
		hosts = append(hosts, short+".local")
	}
	hosts = append(hosts, "localhost")
	addrs, _ := net.InterfaceAddrs() // none: the certificate names only localhost
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		hosts = append(hosts, ipn.IP.String())
	}
	return append(hosts, "127.0.0.1", "::1")
}
