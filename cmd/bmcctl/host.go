package main

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// normalizeHost turns what --host accepts into a base URL: "turingpi.local"
// (port 80), "10.0.0.5:8080", "::1", or a URL "http(s)://host[:port][/]".
// The result is canonical, so that it can key the token cache: lower-case,
// no default port, no trailing slash.
func normalizeHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", usagef("empty --host")
	}
	raw := h
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		h = "[" + h + "]" // a bare IPv6 address
	}
	if !strings.Contains(h, "://") {
		h = "http://" + h
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", usagef("invalid --host %q: want host, host:port or http://host:port", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", usagef("invalid --host %q: scheme must be http or https", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", usagef("invalid --host %q: want only a scheme, a host and a port", raw)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", usagef("invalid --host %q: port must be 1 to 65535", raw)
		}
		port = strconv.Itoa(n)
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host, nil
}
