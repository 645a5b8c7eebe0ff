package api

import (
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

// getAirgap lists the air-gap files the controller holds, with their
// SHA-256, so a client uploads only what differs.
func (s *Server) getAirgap(c *echo.Context) error {
	files, err := s.board.AirgapFiles()
	if err != nil {
		return err
	}
	out := make([]apitype.AirgapFile, len(files))
	for i, f := range files {
		out[i] = airgapFileFromBMC(f)
	}
	return c.JSON(http.StatusOK, out)
}

// putAirgap stores one air-gap file from the request body, streamed (the
// images tarball is hundreds of MB; the body has an idle timeout, not a
// whole-request one). ?sha256= is checked when given. A refused name or
// digest is 400; a body that ends early or goes quiet is 400 too, and
// either leaves nothing behind.
func (s *Server) putAirgap(c *echo.Context) error {
	f, err := s.board.PutAirgapFile(c.Param("file"), c.Request().Body, c.QueryParam("sha256"))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrDeadlineExceeded):
		return newError(http.StatusBadRequest, apitype.CodeBadRequest, "air-gap upload: "+err.Error())
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, airgapFileFromBMC(f))
}

func airgapFileFromBMC(f bmc.AirgapFile) apitype.AirgapFile {
	return apitype.AirgapFile{Name: f.Name, Size: f.Size, SHA256: f.SHA256}
}
