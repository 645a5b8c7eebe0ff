package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// decodeJSON reads a JSON request body into v, strictly: one object, no
// unknown fields, at most maxBodyBytes.
func decodeJSON(c *echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return newError(http.StatusUnsupportedMediaType, apitype.CodeBadRequest, fmt.Sprintf("content type %q: want application/json", ct))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return newError(http.StatusRequestEntityTooLarge, apitype.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBodyBytes))
	}
	if err != nil {
		return newError(http.StatusBadRequest, apitype.CodeBadRequest, "read request body: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return newError(http.StatusBadRequest, apitype.CodeBadRequest, "malformed JSON: empty body")
		}
		return newError(http.StatusBadRequest, apitype.CodeBadRequest, "malformed JSON: "+jsonProblem(err))
	}
	if dec.More() {
		return newError(http.StatusBadRequest, apitype.CodeBadRequest, "malformed JSON: more than one value in body")
	}
	return nil
}

// jsonProblem says what is wrong with a request body in the API's terms,
// not Go's: `field "force": want true or false`, not "cannot unmarshal
// string into Go struct field PowerRequest.force of type bool".
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := te.Type.Kind().String()
		switch te.Type.Kind() {
		case reflect.Bool:
			want = "true or false"
		case reflect.String:
			want = "a string"
		case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
			want = "a number"
		case reflect.Struct, reflect.Map:
			want = "an object"
		}
		if te.Field == "" {
			return "want an object"
		}
		return fmt.Sprintf("field %q: want %s", te.Field, want)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// slotParam parses the {slot} path parameter. A number the board does not
// have is left for the board to reject with 404.
func slotParam(c *echo.Context) (int, error) {
	raw := c.Param("slot")
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, newError(http.StatusBadRequest, apitype.CodeBadRequest, fmt.Sprintf("invalid slot %q: want a slot number", raw))
	}
	return n, nil
}
