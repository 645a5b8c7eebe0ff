#!/bin/sh
# The k3s stand-in's install script, served as https://get.k3s.io on the
# test nodes. Like install.sh it downloads the release binary (from the
# node's stand-in curl) unless INSTALL_K3S_SKIP_DOWNLOAD=true, then runs
# the install step, which writes the env file, unit and scripts and starts
# the service.
set -e
# install.sh checks its variables before it downloads anything.
if [ -n "${K3S_URL}" ]; then
    case "${K3S_URL}" in
    https://*) ;;
    *) echo "[ERROR]  Only https:// URLs are supported for K3S_URL (have ${K3S_URL})" >&2; exit 1 ;;
    esac
    if [ -z "${K3S_TOKEN}" ] && [ -z "${K3S_TOKEN_FILE}" ]; then
        case " ${INSTALL_K3S_EXEC} $* " in
        *" server "*) ;;
        *) echo "[ERROR]  Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN or K3S_TOKEN_FILE is not defined." >&2
           exit 1 ;;
        esac
    fi
fi
BIN_DIR=${INSTALL_K3S_BIN_DIR:-/usr/local/bin}
VERSION=${INSTALL_K3S_VERSION:-}
if [ "${INSTALL_K3S_SKIP_DOWNLOAD}" != "true" ]; then
    if [ -z "${VERSION}" ]; then
        echo "[INFO]  Finding release for channel ${INSTALL_K3S_CHANNEL:-stable}"
        VERSION=$(curl -sfL "https://update.k3s.io/v1-release/channels/${INSTALL_K3S_CHANNEL:-stable}")
    fi
    echo "[INFO]  Using ${VERSION} as release"
    echo "[INFO]  Downloading binary https://github.com/k3s-io/k3s/releases/download/${VERSION}/k3s"
    curl -sfL -o "${BIN_DIR}/k3s.tmp" "https://github.com/k3s-io/k3s/releases/download/${VERSION}/k3s"
    chmod 755 "${BIN_DIR}/k3s.tmp"
    mv -f "${BIN_DIR}/k3s.tmp" "${BIN_DIR}/k3s"
    echo "[INFO]  Installing k3s to ${BIN_DIR}/k3s"
fi
INSTALL_K3S_VERSION=${VERSION} exec "${BIN_DIR}/k3s" standin-install "$@"
