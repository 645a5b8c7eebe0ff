package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

// maxBmapBytes bounds a bmap file sent with an upload.
const maxBmapBytes = 16 << 20

// flash starts a flash job. Three forms:
//
//   - application/json {"url": ...}: the daemon downloads the image;
//     answers 202 with the queued job.
//   - application/octet-stream: the body is the image, streamed straight
//     to the disk; options in the query (sha256, verify, power_on, name).
//   - multipart/form-data: optional fields sha256, verify, power_on and a
//     "bmap" file, then the "image" file part, streamed.
//
// For uploads the answer comes when the job is final: 200 with the job,
// whose state says whether it succeeded.
func (s *Server) flash(c *echo.Context) error {
	n, err := slotParam(c)
	if err != nil {
		return err
	}
	mt, params, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		return s.flashURL(c, n)
	case "application/octet-stream":
		spec, opts, err := flashOptions(c.Request().URL.Query())
		if err != nil {
			return err
		}
		if spec.Name == "" {
			spec.Name = "upload"
		}
		return s.flashUpload(c, n, c.Request().Body, c.Request().ContentLength, spec, opts)
	case "multipart/form-data":
		return s.flashMultipart(c, n, params["boundary"])
	}
	return newError(http.StatusUnsupportedMediaType, apitype.CodeBadRequest,
		"flash: send the image as application/octet-stream or multipart/form-data, or a URL as application/json")
}

func (s *Server) flashURL(c *echo.Context, slot int) error {
	var req apitype.FlashURLRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	// The board checks the URL and the digest (bmc.ErrInvalid: 400).
	spec := bmc.ImageSpec{Name: req.URL, SHA256: req.SHA256, Verify: req.Verify == nil || *req.Verify}
	job, err := s.board.FlashURL(slot, req.URL, spec, bmc.FlashOptions{PowerOn: req.PowerOn})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return c.JSON(http.StatusAccepted, jobFromBMC(job))
}

func (s *Server) flashUpload(c *echo.Context, slot int, body io.Reader, size int64, spec bmc.ImageSpec, opts bmc.FlashOptions) error {
	job, done, err := s.board.FlashUpload(slot, body, size, spec, opts)
	if err != nil {
		return err
	}
	<-done
	final, err := s.board.Jobs().Get(job.ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return c.JSON(http.StatusOK, jobFromBMC(final))
}

func (s *Server) flashMultipart(c *echo.Context, slot int, boundary string) error {
	if boundary == "" {
		return newError(http.StatusBadRequest, apitype.CodeBadRequest, "multipart body without a boundary")
	}
	mr := multipart.NewReader(c.Request().Body, boundary)
	fields := url.Values{}
	var bmap []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return newError(http.StatusBadRequest, apitype.CodeBadRequest, `multipart body has no "image" part`)
		}
		if err != nil {
			return newError(http.StatusBadRequest, apitype.CodeBadRequest, "malformed multipart body: "+err.Error())
		}
		switch name := part.FormName(); name {
		case "image":
			spec, opts, err := flashOptions(fields)
			if err != nil {
				return err
			}
			spec.Bmap = bmap
			if spec.Name == "" {
				spec.Name = part.FileName()
			}
			return s.flashUpload(c, slot, part, -1, spec, opts)
		case "bmap":
			data, err := io.ReadAll(io.LimitReader(part, maxBmapBytes+1))
			if err != nil {
				return newError(http.StatusBadRequest, apitype.CodeBadRequest, "read bmap part: "+err.Error())
			}
			if len(data) > maxBmapBytes {
				return newError(http.StatusRequestEntityTooLarge, apitype.CodeTooLarge, fmt.Sprintf("bmap larger than %d bytes", maxBmapBytes))
			}
			bmap = data
		case "sha256", "verify", "power_on", "name":
			data, err := io.ReadAll(io.LimitReader(part, 1024))
			if err != nil {
				return newError(http.StatusBadRequest, apitype.CodeBadRequest, "read "+name+": "+err.Error())
			}
			fields.Set(name, strings.TrimSpace(string(data)))
		default:
			return newError(http.StatusBadRequest, apitype.CodeBadRequest, fmt.Sprintf("unknown multipart field %q", name))
		}
	}
}

// flashOptions reads sha256, verify, power_on and name.
func flashOptions(v url.Values) (bmc.ImageSpec, bmc.FlashOptions, error) {
	spec := bmc.ImageSpec{Name: v.Get("name"), SHA256: v.Get("sha256"), Verify: true}
	var opts bmc.FlashOptions
	for key, dst := range map[string]*bool{"verify": &spec.Verify, "power_on": &opts.PowerOn} {
		if raw := v.Get(key); raw != "" {
			b, err := strconv.ParseBool(raw)
			if err != nil {
				return spec, opts, newError(http.StatusBadRequest, apitype.CodeBadRequest, fmt.Sprintf("%s=%q: want true or false", key, raw))
			}
			*dst = b
		}
	}
	return spec, opts, nil
}
