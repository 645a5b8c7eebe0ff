package api

import (
	"github.com/labstack/echo/v5"
)

// ContentSecurityPolicy is sent with every response. The web page is
// plain files served by bmcd: no inline script or style, no other
// origin for anything, and no framing (clickjacking a power button).
// 'self' in connect-src covers the page's own ws: and wss: URLs.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// permissionsPolicy turns off the browser features the page has no use
// for, so that no script on it could ask for them.
const permissionsPolicy = "camera=(), microphone=(), geolocation=(), usb=(), serial=(), payment=()"

// hstsMaxAge keeps a browser on HTTPS for a year once it has seen the
// board over TLS (browsers ignore the header over a certificate they
// did not accept).
const hstsMaxAge = "max-age=31536000"

// securityHeaders sets the usual defences of a page on every response,
// errors included; HSTS only on a TLS connection, where it means
// something.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", permissionsPolicy)
		if c.Request().TLS != nil {
			h.Set("Strict-Transport-Security", hstsMaxAge)
		}
		return next(c)
	}
}
