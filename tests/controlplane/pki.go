package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pkiFiles are the credentials the control plane is started with.
type pkiFiles struct {
	caFile          string
	servingCertFile string
	servingKeyFile  string
	saKeyFile       string
	tokenAuthFile   string
	adminTokenFile  string
	adminToken      string
	// In node mode: the client certificate the apiserver presents to the kubelet.
	kubeletClientCertFile string
	kubeletClientKeyFile  string
}

// writePKI mints a fresh CA, a serving certificate for 127.0.0.1 (and the `kubernetes` Service's
// ClusterIP, and the node address if there is one) signed by it, a service-account signing key
// and a system:masters token, and writes them under dir. With a node it also mints the client
// certificate the apiserver shows the kubelet (system:masters, so the kubelet's webhook
// authorization lets `kubectl logs` through).
func writePKI(dir string, node net.IP) (pkiFiles, error) {
	p := pkiPaths(dir)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "incluster-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return p, err
	}

	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	servingTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  servingIPs(node),
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTemplate, caCert, &servingKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return p, err
	}

	tokenBytes := make([]byte, 24)
	if _, err := rand.Read(tokenBytes); err != nil {
		return p, err
	}
	p.adminToken = hex.EncodeToString(tokenBytes)

	servingKeyDER, err := x509.MarshalECPrivateKey(servingKey)
	if err != nil {
		return p, err
	}
	writes := []file{
		{p.caFile, pemBlock("CERTIFICATE", caDER)},
		{p.servingCertFile, pemBlock("CERTIFICATE", servingDER)},
		{p.servingKeyFile, pemBlock("EC PRIVATE KEY", servingKeyDER)},
		{p.saKeyFile, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey))},
		{p.tokenAuthFile, []byte(fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n", p.adminToken))},
		{p.adminTokenFile, []byte(p.adminToken)},
	}
	if node != nil {
		clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return p, err
		}
		clientTemplate := &x509.Certificate{
			SerialNumber: big.NewInt(3),
			Subject:      pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		clientDER, err := x509.CreateCertificate(rand.Reader, clientTemplate, caCert, &clientKey.PublicKey, caKey)
		if err != nil {
			return p, err
		}
		clientKeyDER, err := x509.MarshalECPrivateKey(clientKey)
		if err != nil {
			return p, err
		}
		p.kubeletClientCertFile = filepath.Join(dir, "apiserver-kubelet-client.crt")
		p.kubeletClientKeyFile = filepath.Join(dir, "apiserver-kubelet-client.key")
		writes = append(writes,
			file{p.kubeletClientCertFile, pemBlock("CERTIFICATE", clientDER)},
			file{p.kubeletClientKeyFile, pemBlock("EC PRIVATE KEY", clientKeyDER)},
		)
	}
	for _, w := range writes {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			return p, err
		}
	}
	return p, nil
}

// keptPKI is the PKI an earlier start wrote into dir (see writePKI), if every file of it is there
// (kept is false, and the error nil, when one is missing).
func keptPKI(dir string) (p pkiFiles, kept bool, err error) {
	p = pkiPaths(dir)
	for _, path := range []string{p.caFile, p.servingCertFile, p.servingKeyFile, p.saKeyFile, p.tokenAuthFile, p.adminTokenFile} {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return p, false, nil
		} else if err != nil {
			return p, false, err
		}
	}
	token, err := os.ReadFile(p.adminTokenFile)
	if err != nil {
		return p, false, err
	}
	p.adminToken = strings.TrimSpace(string(token))
	if p.adminToken == "" {
		return p, false, fmt.Errorf("%s is empty; remove the directory to start afresh", p.adminTokenFile)
	}
	return p, true, nil
}

// pkiPaths are the files of the PKI in dir (the node's client certificate aside).
func pkiPaths(dir string) pkiFiles {
	return pkiFiles{
		caFile:          filepath.Join(dir, "ca.crt"),
		servingCertFile: filepath.Join(dir, "apiserver.crt"),
		servingKeyFile:  filepath.Join(dir, "apiserver.key"),
		saKeyFile:       filepath.Join(dir, "service-account.key"),
		tokenAuthFile:   filepath.Join(dir, "tokens.csv"),
		adminTokenFile:  filepath.Join(dir, "admin.token"),
	}
}

// servingIPs are the serving certificate's IP SANs: loopback (the tests), the `kubernetes`
// Service's ClusterIP (what a Pod's KUBERNETES_SERVICE_HOST says) and the node address.
func servingIPs(node net.IP) []net.IP {
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}
	if node != nil {
		ips = append(ips, node)
	}
	return ips
}

// file is one file writePKI writes.
type file struct {
	path string
	data []byte
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

// writeKubeconfig writes a kubeconfig for server (trusting caFile) with the bearer token in tokenFile.
func writeKubeconfig(path, server, caFile, tokenFile string) error {
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: incluster-test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    tokenFile: %s
contexts:
- name: admin
  context:
    cluster: incluster-test
    user: admin
current-context: admin
`, server, caFile, tokenFile)
	return os.WriteFile(path, []byte(content), 0o600)
}
