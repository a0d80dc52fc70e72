package s3blobs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
)

// blob reads an object through ranged GETs of whole blocks and keeps the most recently used
// blocks, so the many small reads of a CSV scanner or a ZIP reader cost one request per block,
// not one per read.
type blob struct {
	ctx       context.Context
	store     *Store
	key       string
	size      int64
	etag      string
	blockSize int64
	maxBlocks int

	// mu serialises fetches: io.ReaderAt allows parallel calls, and two readers of the same
	// block should share one GET.
	mu     sync.Mutex
	blocks []cachedBlock // most recently used last
	closed bool
}

type cachedBlock struct {
	index int64
	data  []byte
}

func (b *blob) Size() int64 { return b.size }

func (b *blob) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.blocks = nil
	return nil
}

func (b *blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("s3blobs: read %s: negative offset %d", b.key, off)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, fmt.Errorf("s3blobs: read %s: %w", b.key, os.ErrClosed)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= b.size {
			return n, io.EOF
		}
		idx := pos / b.blockSize
		data, err := b.block(idx)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[pos-idx*b.blockSize:])
	}
	return n, nil
}

// block returns block idx from the cache or from S3; b.mu is held.
func (b *blob) block(idx int64) ([]byte, error) {
	for i, c := range b.blocks {
		if c.index == idx {
			b.blocks = append(append(b.blocks[:i:i], b.blocks[i+1:]...), c)
			return c.data, nil
		}
	}
	start := idx * b.blockSize
	end := min(start+b.blockSize, b.size) - 1
	h := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", start, end)}}
	if b.etag != "" {
		// A replaced object answers 412 PreconditionFailed rather than mixing two versions.
		h.Set("If-Match", b.etag)
	}
	data := make([]byte, end-start+1)
	err := b.store.do(b.ctx, request{method: http.MethodGet, key: b.key, header: h}, func(res *http.Response) error {
		// A server that ignored the Range would hand over the object from its start.
		if want := fmt.Sprintf("bytes %d-%d/", start, end); res.StatusCode != http.StatusPartialContent || !strings.HasPrefix(res.Header.Get("Content-Range"), want) {
			return fmt.Errorf("asked for %s, got %s with Content-Range %q", want, res.Status, res.Header.Get("Content-Range"))
		}
		if _, err := io.ReadFull(res.Body, data); err != nil {
			// The connection broke mid-body: worth another attempt.
			return transientError{err}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("s3blobs: read %s bytes %d-%d: %w", b.key, start, end, err)
	}
	if len(b.blocks) >= b.maxBlocks {
		b.blocks = b.blocks[1:]
	}
	b.blocks = append(b.blocks, cachedBlock{index: idx, data: data})
	return data, nil
}
