package externalmetrics

import (
	stdlog "log"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

// The HTTP server's own messages reach the operator's log, one line each.
func TestServerMessagesGoToTheLog(t *testing.T) {
	var got []string
	log := funcr.New(func(_, args string) { got = append(got, args) }, funcr.Options{Verbosity: 1})
	stdlog.New(logWriter{log.V(1)}, "", 0).Printf("http: TLS handshake error from 127.0.0.1:5555: EOF")
	if len(got) != 1 || !strings.Contains(got[0], `"msg"="http: TLS handshake error from 127.0.0.1:5555: EOF"`) {
		t.Errorf("logged %q, want the handshake error as one message", got)
	}
}
