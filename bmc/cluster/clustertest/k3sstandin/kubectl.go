package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// kubectlMain is `k3s kubectl get nodes -o json`: it asks the local
// server's API with k3s.yaml's credentials, as k3s's embedded kubectl
// does.
func kubectlMain(args []string) int {
	var words []string
	asJSON := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o" || a == "--output":
			if i+1 < len(args) {
				i++
				asJSON = args[i] == "json"
			}
		case a == "-ojson" || a == "--output=json":
			asJSON = true
		default:
			words = append(words, a)
		}
	}
	if len(words) != 2 || words[0] != "get" || (words[1] != "nodes" && words[1] != "node" && words[1] != "no") || !asJSON {
		fmt.Fprintf(os.Stderr, "kubectl (k3s stand-in): only `get nodes -o json`, not %q\n", strings.Join(args, " "))
		return 1
	}
	b, err := os.ReadFile(kubeconfigPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	var kc struct {
		Clusters []struct {
			Cluster struct {
				Server string `yaml:"server"`
				CA     string `yaml:"certificate-authority-data"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			User struct {
				Cert string `yaml:"client-certificate-data"`
				Key  string `yaml:"client-key-data"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(b, &kc); err != nil || len(kc.Clusters) == 0 || len(kc.Users) == 0 {
		fmt.Fprintf(os.Stderr, "error: loading %s: %v\n", kubeconfigPath, err)
		return 1
	}
	dec := func(s string) []byte { d, _ := base64.StdEncoding.DecodeString(s); return d }
	cert, err := tls.X509KeyPair(dec(kc.Users[0].User.Cert), dec(kc.Users[0].User.Key))
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: client certificate: %v\n", err)
		return 1
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(dec(kc.Clusters[0].Cluster.CA))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}
	server := kc.Clusters[0].Cluster.Server
	resp, err := c.Get(server + "/api/v1/nodes")
	if err != nil {
		fmt.Fprintf(os.Stderr, "The connection to the server %s was refused - did you specify the right host or port?\n", strings.TrimPrefix(server, "https://"))
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(os.Stderr, "Error from server: %s: %s\n", resp.Status, msg)
		return 1
	}
	_, err = io.Copy(os.Stdout, resp.Body)
	if err != nil {
		return 1
	}
	return 0
}
