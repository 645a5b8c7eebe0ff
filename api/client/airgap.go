package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// AirgapFiles lists the air-gap files bmcd holds, with their SHA-256.
func (c *Client) AirgapFiles(ctx context.Context) ([]apitype.AirgapFile, error) {
	var files []apitype.AirgapFile
	return files, c.do(ctx, "air-gap files", http.MethodGet, "/api/v1/cluster/airgap", nil, &files)
}

// PutAirgapFile streams an air-gap file of size bytes to bmcd under name;
// sha256 (hex, "" to skip) is checked by bmcd before it keeps the file.
func (c *Client) PutAirgapFile(ctx context.Context, name string, r io.Reader, size int64, sha256 string) (apitype.AirgapFile, error) {
	op := "upload air-gap file " + name
	path := "/api/v1/cluster/airgap/" + url.PathEscape(name)
	if sha256 != "" {
		path += "?sha256=" + url.QueryEscape(sha256)
	}
	req, err := c.newRequest(ctx, op, http.MethodPut, path, r)
	if err != nil {
		return apitype.AirgapFile{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")
	if size >= 0 {
		req.ContentLength = size
	}
	resp, err := c.send(op, req)
	if err != nil {
		return apitype.AirgapFile{}, err
	}
	defer resp.Body.Close()
	var f apitype.AirgapFile
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return apitype.AirgapFile{}, fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return f, nil
}
