package firstboot

import (
	"fmt"
	"strings"
)

// dietpiScript is the custom script DietPi runs from the boot partition at
// the end of its automated first run (AUTO_SETUP_CUSTOM_SCRIPT_EXEC=0).
const dietpiScript = "Automation_Custom_Script.sh"

// dietpiFiles edits dietpi.txt and renders the custom script. DietPi has
// fixed accounts, so User must be empty, root or dietpi; keys go to both.
func dietpiFiles(s Seed, dietpiTxt string) (map[string]string, error) {
	if u := s.User; u != "" && u != "root" && u != "dietpi" {
		return nil, fmt.Errorf("%w: DietPi has the accounts root and dietpi, not %q", ErrInvalidSeed, u)
	}
	set := map[string]string{
		"AUTO_SETUP_AUTOMATED":          "1",
		"AUTO_SETUP_NET_HOSTNAME":       s.Hostname,
		"AUTO_SETUP_SSH_SERVER_INDEX":   "-2", // OpenSSH: Dropbear would not use the seeded host key
		"AUTO_SETUP_CUSTOM_SCRIPT_EXEC": "0",  // run /boot/Automation_Custom_Script.sh
	}
	if s.PasswordHash == "" {
		set["SOFTWARE_DISABLE_SSH_PASSWORD_LOGINS"] = "1"
	}
	txt := setKeys(dietpiTxt, set, "AUTO_SETUP_SSH_PUBKEY", s.AuthorizedKeys)
	script, err := dietpiCustomScript(s)
	if err != nil {
		return nil, err
	}
	return map[string]string{"dietpi.txt": txt, dietpiScript: script}, nil
}

// setKeys rewrites KEY=value lines in place (appending missing keys), and
// replaces every line of the repeatable key with one line per value.
func setKeys(txt string, set map[string]string, repeat string, values []string) string {
	lines := strings.Split(strings.TrimRight(txt, "\n"), "\n")
	out := make([]string, 0, len(lines)+len(values)+len(set))
	seen := map[string]bool{}
	for _, l := range lines {
		k, _, ok := strings.Cut(l, "=")
		k = strings.TrimSpace(k)
		switch {
		case ok && k == repeat:
			continue
		case ok && set[k] != "" && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			if !seen[k] {
				out = append(out, k+"="+set[k])
			}
			seen[k] = true
		default:
			out = append(out, l)
		}
	}
	for _, k := range sortedKeys(set) {
		if !seen[k] {
			out = append(out, k+"="+set[k])
		}
	}
	for _, v := range values {
		out = append(out, repeat+"="+v)
	}
	return strings.Join(out, "\n") + "\n"
}

func dietpiCustomScript(s Seed) (string, error) {
	priv, err := s.HostKey.privatePEM()
	if err != nil {
		return "", err
	}
	k3s := 0
	if s.K3sPrep {
		k3s = 1
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("#!/bin/bash\n# Written by bmcd at flash time; runs once, then deletes itself.\n\n")
	w("BMCD_PASSWORD_HASH='%s'\nBMCD_K3S_PREP=%d\n", s.PasswordHash, k3s)
	w("BMCD_HOST_KEY_PUB='%s'\nBMCD_HOST_KEY='%s'\n\n", s.HostKey.PublicLine(), strings.TrimSuffix(priv, "\n"))
	b.WriteString(installHostKey)
	b.WriteString("systemctl restart ssh\n")
	b.WriteString(`if [ -n "$BMCD_PASSWORD_HASH" ]; then
	printf 'root:%s\ndietpi:%s\n' "$BMCD_PASSWORD_HASH" "$BMCD_PASSWORD_HASH" | chpasswd -e
fi
if [ "$BMCD_K3S_PREP" = 1 ]; then
	systemctl enable --now systemd-timesyncd
fi
`)
	w("cat >%s <<'BMCD_EOF'\n%sBMCD_EOF\nchmod 755 %s\n", markerScriptPath, markerScript, markerScriptPath)
	w("cat >/etc/systemd/system/%s <<'BMCD_EOF'\n%sBMCD_EOF\n", markerUnitName, markerUnit)
	w("systemctl daemon-reload\nsystemctl enable --now %s\n", markerUnitName)
	w("rm -f /boot/%s /boot/firmware/%s\nexit 0\n", dietpiScript, dietpiScript)
	return b.String(), nil
}
