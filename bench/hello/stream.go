package hello

import (
	"context"
	"errors"
	"io"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ChunkSize is how many bytes one stream message carries: large enough
// that per-message costs vanish, well under gRPC's default 4 MiB limit.
const ChunkSize = 1 << 20

// The stream service is the floor for file transfers: the bytes of a file
// sent over the plugin's gRPC connection in ChunkSize messages and written
// to a file at the other end, with nothing else. The path on the plugin's
// side travels as "path" metadata.
const (
	streamService = "hello.Stream"
	pathKey       = "path"
)

var streamDesc = grpc.ServiceDesc{
	ServiceName: streamService,
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{
		{StreamName: "Upload", ClientStreams: true, Handler: func(_ any, s grpc.ServerStream) error {
			f, err := os.Create(pathOf(s.Context()))
			if err != nil {
				return err
			}
			if err := receive(s, f); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return s.SendMsg(&wrapperspb.BytesValue{})
		}},
		{StreamName: "Download", ServerStreams: true, Handler: func(_ any, s grpc.ServerStream) error {
			if err := s.RecvMsg(&wrapperspb.BytesValue{}); err != nil {
				return err
			}
			f, err := os.Open(pathOf(s.Context()))
			if err != nil {
				return err
			}
			defer f.Close()
			return send(s, f)
		}},
	},
}

// RegisterStream serves the stream service on s.
func RegisterStream(s *grpc.Server) { s.RegisterService(&streamDesc, nil) }

func pathOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(pathKey); len(v) == 1 {
		return v[0]
	}
	return ""
}

// Upload sends the local file src to dst on the plugin's side.
func Upload(ctx context.Context, conn *grpc.ClientConn, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := conn.NewStream(metadata.AppendToOutgoingContext(ctx, pathKey, dst), &streamDesc.Streams[0], "/"+streamService+"/Upload")
	if err != nil {
		return err
	}
	if err := send(s, f); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	return s.RecvMsg(&wrapperspb.BytesValue{})
}

// Download writes src on the plugin's side to the local file dst.
func Download(ctx context.Context, conn *grpc.ClientConn, src, dst string) error {
	s, err := conn.NewStream(metadata.AppendToOutgoingContext(ctx, pathKey, src), &streamDesc.Streams[1], "/"+streamService+"/Download")
	if err != nil {
		return err
	}
	if err := s.SendMsg(&wrapperspb.BytesValue{}); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if err := receive(s, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type stream interface {
	SendMsg(any) error
	RecvMsg(any) error
}

func send(s stream, f *os.File) error {
	buf := make([]byte, ChunkSize)
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			if err := s.SendMsg(&wrapperspb.BytesValue{Value: buf[:n]}); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func receive(s stream, f *os.File) error {
	for {
		var m wrapperspb.BytesValue
		err := s.RecvMsg(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(m.Value) == 0 {
			// The end of a client stream's sender, or a download request.
			continue
		}
		if _, err := f.Write(m.Value); err != nil {
			return err
		}
	}
}
