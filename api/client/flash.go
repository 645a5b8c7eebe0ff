package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// FlashOptions are the options of a flash upload.
type FlashOptions struct {
	// Name describes the image in the job history (e.g. the file name).
	Name string
	// SHA256 is the expected digest of the bytes sent, hex; "" skips.
	SHA256 string
	// Bmap is a bmaptool block map to send along; nil writes every block.
	Bmap []byte
	// NoVerify skips reading the written image back.
	NoVerify bool
	// PowerOn switches the slot on after a successful flash.
	PowerOn bool
	// Prepare are the first-boot fields; the zero value flashes the
	// image as it is.
	Prepare apitype.Prepare
}

// prepareFields are the first-boot fields as query or multipart fields.
func prepareFields(p apitype.Prepare) [][2]string {
	if !p.Asked() {
		return nil
	}
	f := [][2]string{{"prepare", "true"}}
	for _, kv := range [][2]string{{"hostname", p.Hostname}, {"user", p.User}, {"password_hash", p.PasswordHash}} {
		if kv[1] != "" {
			f = append(f, kv)
		}
	}
	for _, k := range p.SSHKeys {
		f = append(f, [2]string{"ssh_key", k})
	}
	if p.K3sPrep {
		f = append(f, [2]string{"k3s_prep", "true"})
	}
	return f
}

// FlashUpload streams an image of size bytes (-1 if unknown) to slot and
// returns the job once it is final. The image is sent as it is read,
// never buffered whole; with a bmap it goes as multipart.
func (c *Client) FlashUpload(ctx context.Context, slot int, image io.Reader, size int64, opts FlashOptions) (apitype.Job, error) {
	op := fmt.Sprintf("flash slot %d", slot)
	path := slotPath(slot) + "/flash"
	var req *http.Request
	var err error
	if opts.Bmap == nil {
		q := url.Values{}
		q.Set("name", opts.Name)
		if opts.SHA256 != "" {
			q.Set("sha256", opts.SHA256)
		}
		q.Set("verify", strconv.FormatBool(!opts.NoVerify))
		q.Set("power_on", strconv.FormatBool(opts.PowerOn))
		for _, f := range prepareFields(opts.Prepare) {
			q.Add(f[0], f[1])
		}
		req, err = c.newRequest(ctx, op, http.MethodPost, path+"?"+q.Encode(), image)
		if err != nil {
			return apitype.Job{}, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		if size >= 0 {
			req.ContentLength = size
		}
	} else {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		req, err = c.newRequest(ctx, op, http.MethodPost, path, pr)
		if err != nil {
			return apitype.Job{}, err
		}
		go func() { pw.CloseWithError(writeMultipart(mw, image, opts)) }()
		req.Header.Set("Content-Type", mw.FormDataContentType())
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(op, req)
	if err != nil {
		return apitype.Job{}, err
	}
	defer resp.Body.Close()
	var job apitype.Job
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil {
		return apitype.Job{}, fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return job, nil
}

func writeMultipart(mw *multipart.Writer, image io.Reader, opts FlashOptions) error {
	fields := [][2]string{{"verify", strconv.FormatBool(!opts.NoVerify)}, {"power_on", strconv.FormatBool(opts.PowerOn)}}
	if opts.SHA256 != "" {
		fields = append(fields, [2]string{"sha256", opts.SHA256})
	}
	fields = append(fields, prepareFields(opts.Prepare)...)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	bw, err := mw.CreateFormFile("bmap", "image.bmap")
	if err != nil {
		return err
	}
	if _, err := bw.Write(opts.Bmap); err != nil {
		return err
	}
	iw, err := mw.CreateFormFile("image", opts.Name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(iw, image); err != nil {
		return err
	}
	return mw.Close()
}

// FlashURL asks bmcd to download and flash an image; it returns the
// queued job at once.
func (c *Client) FlashURL(ctx context.Context, slot int, req apitype.FlashURLRequest) (apitype.Job, error) {
	var job apitype.Job
	return job, c.do(ctx, fmt.Sprintf("flash slot %d from a URL", slot), http.MethodPost, slotPath(slot)+"/flash", req, &job)
}
