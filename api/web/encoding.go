package web

import (
	"strconv"
	"strings"
)

// AcceptsGzip reports whether an Accept-Encoding header allows a gzip
// body: "gzip" (or "x-gzip", or "*" when gzip is not named) with a
// quality above zero.
func AcceptsGzip(header string) bool {
	star := false
	for _, item := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		ok := quality(params) > 0
		switch coding {
		case "gzip", "x-gzip":
			return ok
		case "*":
			star = ok
		}
	}
	return star
}

// quality is the q parameter of an Accept-Encoding item: 1 when absent,
// 0 when malformed (a client that writes q=abc gets the safe choice).
func quality(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
