package api

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

// getClusterKey answers bmcd's SSH client public key.
func (s *Server) getClusterKey(c *echo.Context) error {
	return c.JSON(http.StatusOK, apitype.ClusterKey{PublicKey: s.board.ClusterKey()})
}

// postCluster queues a cluster job and answers 202 with it; watch it on
// GET /api/v1/jobs/{id} or the event stream.
func (s *Server) postCluster(c *echo.Context) error {
	var req apitype.ClusterRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	br := bmc.ClusterRequest{Servers: req.Servers, Agents: req.Agents, Version: req.K3sVersion, Airgap: req.Airgap}
	for _, n := range req.Nodes {
		br.Nodes = append(br.Nodes, bmc.ClusterAddrNode{Addr: n.Addr, HostKey: n.HostKey, User: n.User, Role: n.Role})
	}
	job, _, err := s.board.StartCluster(br)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, jobFromBMC(job))
}

// getCluster answers the cluster as the last cluster job left it.
func (s *Server) getCluster(c *echo.Context) error {
	st, err := s.board.ClusterStatus()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apitype.ClusterStatus{
		Nodes: clusterNodesFromBMC(st.Nodes), K3sVersion: st.Version,
		LastJob: st.LastJob, LastState: string(st.LastState), Kubeconfig: st.Kubeconfig,
	})
}

// getKubeconfig answers the kubeconfig kept after the last successful
// cluster job, as YAML.
func (s *Server) getKubeconfig(c *echo.Context) error {
	data, err := s.board.ClusterKubeconfig()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/yaml", data)
}

// postClusterNode queues a job that joins one node to the cluster.
func (s *Server) postClusterNode(c *echo.Context) error {
	var req apitype.ClusterAddRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	br := bmc.ClusterAddRequest{Slot: req.Slot, Role: req.Role}
	if n := req.Node; n != nil {
		br.Node = &bmc.ClusterAddrNode{Addr: n.Addr, HostKey: n.HostKey, User: n.User, Role: n.Role}
	}
	job, _, err := s.board.StartClusterAdd(br)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, jobFromBMC(job))
}

// deleteClusterNode queues a job that drains, deletes and uninstalls the
// node named by its name, slot or address.
func (s *Server) deleteClusterNode(c *echo.Context) error {
	job, _, err := s.board.StartClusterRemove(c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, jobFromBMC(job))
}

// deleteCluster queues a job that uninstalls k3s from every node.
func (s *Server) deleteCluster(c *echo.Context) error {
	job, _, err := s.board.StartClusterDown()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, jobFromBMC(job))
}

func clusterNodesFromBMC(ns []bmc.ClusterNode) []apitype.ClusterNode {
	out := make([]apitype.ClusterNode, len(ns))
	for i, n := range ns {
		out[i] = apitype.ClusterNode{Name: n.Name, Slot: n.Slot, Addr: n.Addr, User: n.User, HostKey: n.HostKey,
			Role: n.Role, Action: n.Action, Error: n.Error, Ready: n.Ready, Hostname: n.Hostname, Doing: n.Doing}
	}
	return out
}
