# The manager image: a static binary on distroless, running as non-root.
#   make docker-build IMG=<registry>/variant-autoscaler:<tag>

FROM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /workspace

# Modules first, so source edits do not download them again.
COPY go.mod go.sum ./
RUN GOWORK=off go mod download

# Then the source; the build compiles only what cmd/manager imports.
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} GOWORK=off \
    go build -trimpath -ldflags=-s -o /manager ./cmd/manager

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
