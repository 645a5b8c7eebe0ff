// Package web is bmcd's web page: plain HTML, CSS and JavaScript modules
// under static/, embedded in the binary and served at "/" by package api.
//
// There is no build step. The page talks to bmcd only through the JSON
// API (nothing it does is impossible with bmcctl or curl) and loads each
// view as its own module when it is first shown; the console view alone
// loads xterm.js, which the Makefile copies from npm (package.json,
// package-lock.json) into static/vendor/. A binary built without it still
// serves the rest of the page, and the console view says how to get it.
//
// # Serving
//
// Every file is read and gzip-compressed once, when the Handler is made,
// never per request. A client that accepts gzip gets the compressed
// bytes; one that does not gets the file as it is. Each representation
// has its own strong ETag, and Cache-Control "no-cache" makes browsers
// revalidate, so a new bmcd is picked up at the next load and an
// unchanged file costs a 304. Unknown files are 404. Views are hash
// routes (#/board, #/flash/2), so "/" is the only document the server
// needs to know.
package web
