package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

type certInfo struct {
	pair       tls.Certificate
	thumbprint string // SHA-1 of the leaf, "AA:BB:...", as vCenter shows it
	certFile   string
	keyFile    string
	caFile     string // what a client should trust: the self-signed cert itself
}

// loadCert serves a caller's certificate. vcsim's built-in one has a 1024-bit
// key that Debian's OpenSSL refuses to verify, so verified TLS needs ours.
func loadCert(certFile, keyFile string) (*certInfo, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading -tls-cert/-tls-key: %w", err)
	}
	ci := &certInfo{pair: pair, certFile: abs(certFile), keyFile: abs(keyFile)}
	ci.thumbprint = thumbprintSHA1(pair.Certificate[0])
	// For a self-signed cert the cert is its own CA; for a CA-issued one the
	// caller already holds its CA, and the cert file is still a valid pin.
	ci.caFile = ci.certFile
	return ci, nil
}

// ensureSelfSigned keeps a self-signed cert in dir: it reuses the one there
// when it still verifies for 127.0.0.1 and localhost for at least a day, so a
// restart keeps the thumbprint a test or config may have pinned, and otherwise
// writes a new one.
func ensureSelfSigned(dir string) (*certInfo, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	certFile := filepath.Join(dir, "vcsim-cert.pem")
	keyFile := filepath.Join(dir, "vcsim-key.pem")

	if ci, err := loadCert(certFile, keyFile); err == nil && usable(ci) {
		return ci, nil
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         "localhost",
			Organization:       []string{"vistack"},
			OrganizationalUnit: []string{"vistack-vcsim " + host},
		},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(5, 0, 0),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
		// A self-signed server cert that is also its own trust anchor, as
		// `openssl req -x509` makes it: clients load it as their CA file.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writePEM(keyFile, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return nil, err
	}
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	return loadCert(certFile, keyFile)
}

func usable(ci *certInfo) bool {
	leaf, err := x509.ParseCertificate(ci.pair.Certificate[0])
	if err != nil {
		return false
	}
	if time.Until(leaf.NotAfter) < 24*time.Hour || time.Now().Before(leaf.NotBefore) {
		return false
	}
	if leaf.VerifyHostname("127.0.0.1") != nil || leaf.VerifyHostname("localhost") != nil {
		return false
	}
	rsaKey, ok := leaf.PublicKey.(*rsa.PublicKey)
	return ok && rsaKey.N.BitLen() >= 2048
}

// writePEM writes through a temp file and a rename so a concurrent reader
// never sees half a key.
func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vcsim-*.pem")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: kind, Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func thumbprintSHA1(der []byte) string {
	sum := sha1.Sum(der)
	return colonHex(sum[:])
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
