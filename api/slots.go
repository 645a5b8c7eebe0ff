package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

func (s *Server) getBoard(c *echo.Context) error {
	info := s.board.Info()
	caps := s.board.Capabilities()
	if caps == nil {
		caps = []string{}
	}
	return c.JSON(http.StatusOK, apitype.BoardInfo{
		Profile:      info.Profile,
		Model:        info.Model,
		Slots:        info.Slots,
		Capabilities: caps,
		Version:      s.cfg.Version,
		Warnings:     s.board.Warnings(),
	})
}

func (s *Server) listSlots(c *echo.Context) error {
	return c.JSON(http.StatusOK, slotsFromStatus(s.board.Slots(c.Request().Context())))
}

func (s *Server) getSlot(c *echo.Context) error {
	n, err := slotParam(c)
	if err != nil {
		return err
	}
	st, err := s.board.Slot(c.Request().Context(), n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, slotFromStatus(st))
}

func (s *Server) patchSlot(c *echo.Context) error {
	n, err := slotParam(c)
	if err != nil {
		return err
	}
	var p apitype.SlotPatch
	if err := decodeJSON(c, &p); err != nil {
		return err
	}
	u := bmc.SlotUpdate{Name: p.Name, Module: p.Module}
	if p.Policy != nil {
		pol, err := bmc.ParsePolicy(*p.Policy)
		if err != nil {
			return err
		}
		u.Policy = &pol
	}
	st, err := s.board.UpdateSlot(c.Request().Context(), n, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, slotFromStatus(st))
}

func (s *Server) decodePower(c *echo.Context) (bmc.Action, bmc.PowerOpts, error) {
	var req apitype.PowerRequest
	if err := decodeJSON(c, &req); err != nil {
		return "", bmc.PowerOpts{}, err
	}
	a, err := bmc.ParseAction(req.Action)
	return a, bmc.PowerOpts{Force: req.Force}, err
}

// operationContext detaches a hardware operation from the request, so a
// client that vanishes mid-sequence does not leave a slot half switched.
func (s *Server) operationContext(c *echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.Request().Context()), s.cfg.OperationTimeout)
}

func (s *Server) powerSlot(c *echo.Context) error {
	n, err := slotParam(c)
	if err != nil {
		return err
	}
	a, opts, err := s.decodePower(c)
	if err != nil {
		return err
	}
	ctx, cancel := s.operationContext(c)
	defer cancel()
	st, err := s.board.Power(ctx, n, a, opts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, slotFromStatus(st))
}

func (s *Server) powerAll(c *echo.Context) error {
	a, opts, err := s.decodePower(c)
	if err != nil {
		return err
	}
	ctx, cancel := s.operationContext(c)
	defer cancel()
	sts, err := s.board.PowerAll(ctx, a, opts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, slotsFromStatus(sts))
}

func (s *Server) savePowerDefaults(c *echo.Context) error {
	ctx, cancel := s.operationContext(c)
	defer cancel()
	if err := s.board.SavePowerDefaults(ctx); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func slotFromStatus(st bmc.SlotStatus) apitype.Slot {
	out := apitype.Slot{
		Slot:      st.Slot,
		Name:      st.Name,
		Module:    st.Module,
		Power:     st.Power.String(),
		Present:   st.Present,
		Policy:    string(st.Policy),
		Requested: st.Requested,
		Self:      st.Self,
		Busy:      st.Busy,
		Warning:   st.Warning,
	}
	if !st.PowerChangedAt.IsZero() {
		t := st.PowerChangedAt.UTC()
		out.PowerChangedAt = &t
	}
	if p := st.Prepared; p != nil {
		out.Node = &apitype.Node{
			Hostname: p.Hostname, User: p.User, OS: p.Family,
			HostKey: p.HostKey, Fingerprint: p.Fingerprint,
			Address: st.Address, Addresses: p.Addrs, AddressesSeen: optionalTime(p.AddrsSeen),
			Job: p.Job, PreparedAt: p.PreparedAt.UTC(), Warning: p.Warning,
		}
		if out.Node.Addresses == nil {
			out.Node.Addresses = []string{}
		}
	}
	return out
}

func slotsFromStatus(sts []bmc.SlotStatus) []apitype.Slot {
	out := make([]apitype.Slot, len(sts))
	for i, st := range sts {
		out[i] = slotFromStatus(st)
	}
	return out
}
