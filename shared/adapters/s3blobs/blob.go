package s3blobs

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// blob reads an object through ranged GETs of whole blocks and keeps the most recently used
// blocks, so the many small reads of a CSV scanner or a ZIP reader cost one request per block,
// not one per read.
type blob struct {
	ctx       context.Context
	client    *s3.Client
	bucket    string
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
	in := &s3.GetObjectInput{
		Bucket: aws.String(b.bucket), Key: aws.String(b.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", start, end)),
	}
	if b.etag != "" {
		in.IfMatch = aws.String(b.etag)
	}
	out, err := b.client.GetObject(b.ctx, in)
	if err != nil {
		return nil, fmt.Errorf("s3blobs: read %s bytes %d-%d: %w", b.key, start, end, err)
	}
	defer out.Body.Close()
	// A server that ignored the Range would hand over the object from its start.
	if want := fmt.Sprintf("bytes %d-%d/", start, end); !strings.HasPrefix(aws.ToString(out.ContentRange), want) {
		return nil, fmt.Errorf("s3blobs: read %s: asked for %s, got Content-Range %q", b.key, want, aws.ToString(out.ContentRange))
	}
	data := make([]byte, end-start+1)
	if _, err := io.ReadFull(out.Body, data); err != nil {
		return nil, fmt.Errorf("s3blobs: read %s bytes %d-%d: %w", b.key, start, end, err)
	}
	if len(b.blocks) >= b.maxBlocks {
		b.blocks = b.blocks[1:]
	}
	b.blocks = append(b.blocks, cachedBlock{index: idx, data: data})
	return data, nil
}
