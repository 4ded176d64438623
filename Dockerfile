# Custodian: one static binary (pure Go, no cgo) on a distroless base.
#   docker build -t custodian .
#   docker run -p 8080:8080 -e CUSTODIAN_ADDR=0.0.0.0:8080 custodian

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/custodian ./cmd/custodian \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/custodian /custodian
# The embedded store's data directory, owned by the nonroot user (65532) so a
# volume mounted here starts writable.
COPY --from=build --chown=65532:65532 /out/data /data
ENV CUSTODIAN_ADDR=0.0.0.0:8080 \
    CUSTODIAN_DATA_DIR=/data
EXPOSE 8080
VOLUME ["/data"]
USER nonroot:nonroot
ENTRYPOINT ["/custodian"]
CMD ["serve"]
