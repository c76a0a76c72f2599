// English sentences Go sends to the UI (errors, notes), keyed by a hash of
// their Go format; {1}, {2}, … are the values Go fills in. Generated from
// the formats of apperr.New and apperr.Textf by
// `go test ./backend/apperr -update`: do not edit by hand. The source of
// this part's keys: the sibling files translate every one.
export const errorsEn = {
  // app_localserver.go
  'go.76b2cf88': "finding the local server's folder failed: {1}",
  'go.d9c6ebe6': "listing the local server's models failed: {1}",
  'go.fbb9d8c8': "Docker did not say within {1} how the local server stands: try again in a minute",
  // backend/apperr/text.go
  'go.845df81c': "cancelled",
  // backend/cache/cache.go
  'go.eee064a7': "no cache folder set; choose one in Settings or with --cache-dir",
  'go.9ff31936': "cannot use the cache folder {1}: {2}; choose another one in Settings or with --cache-dir",
  // backend/inference/model.go
  'go.788b27f3': "model {1} on {2} does not fit NeMo Transcribe's model contract: {3}",
  'go.58827a22': "model {1} returned a {2} output that is not one text element",
  'go.cbc6f62b': "model {1} returned a {2} output that is not one JSON element",
  'go.8c2718b1': "model {1}: {2}",
  // backend/inference/retry.go
  'go.1ab518bf': "{1} (tried {2} times over {3})",
  // backend/inference/server.go
  'go.5cee2d1e': "no server address set: enter host:port of a Triton server's gRPC endpoint (usually port 8001)",
  'go.3afb5f91': "audio input {1} is not one the contract knows: use {2}, {3} or {4}, or leave it empty for the most compact one",
  'go.f1617232': "request priority {1} is negative: use 0 for the model's default, 1 for the highest",
  'go.ef1c4f05': "TLS settings: {1}",
  'go.d8914f9e': "request headers: {1}",
  'go.2737e7ff': "{1}: use host:port, e.g. localhost:8001",
  'go.2871114d': "server address {1} is not valid: use host:port, e.g. localhost:8001",
  'go.8233d55f': "server {1} has no model {2} (models there: {3})",
  'go.eb5bac58': "model {1} on {2} is still not ready after {3} (state {4}): wait for the server to finish loading it, then try again",
  'go.64e6ade1': "model {1} is in the repository of {2} but not loaded: the server loads models only when asked (explicit model control), so load it there, e.g. start tritonserver with --load-model={3}",
  'go.d10204d7': "model {1} was unloaded on {2}: load it there again",
  'go.3ac71851': "model {1} on {2} is not available: {3}",
  'go.e7b2a6b3': "talking to {1}: {2}",
  'go.d887ef69': "the server at {1} answered in HTTP/1.1, not gRPC: that is probably Triton's HTTP port (usually 8000); use its gRPC port (usually 8001)",
  'go.5fd6e84a': "cannot reach a Triton server at {1}: check the address and that the server is running (Triton's gRPC port is usually 8001)",
  'go.54a147e9': "model {1} on {2} is not ready ({3}): wait for the server to finish loading it",
  'go.c0e0ec2c': "the Triton server at {1} is unavailable ({2}): it may be restarting or overloaded; try again shortly",
  'go.570cb7e7': "the Triton server at {1} is overloaded ({2}): lower the number of chunks in flight or try again later",
  'go.452a3d2b': "a request was too large for {1} or a gateway in front of it ({2}): raise the gateway's message size limit",
  'go.b78ca3d9': "the Triton server at {1} did not answer in time: check the address and the network (Triton's gRPC port is usually 8001)",
  'go.8cbc7bb2': "the Triton server at {1}, or a proxy in front of it, cancelled the request ({2}): try again; if it keeps happening, check the server's log",
  'go.5b8a2e9f': "model {1} on {2} has no version ready: {3}",
  'go.8158ee39': "the Triton server at {1} answered {2}: {3}",
  'go.b160f52d': "the server at {1} expects TLS but the connection is plaintext: turn TLS on (CLI: --tls)",
  'go.9d384dad': "the server at {1} does not use TLS: turn TLS off, or enable TLS on the server",
  'go.45b6ceea': "the TLS certificate of {1} is not signed by an authority this computer trusts: set the CA certificate that signed it (CLI: --tls-ca FILE)",
  'go.051c782c': "the TLS certificate of {1} is for another name ({2}): connect by a name it lists, or set the expected server name (CLI: --tls-server-name)",
  'go.5894d1c6': "the server at {1} requires a client certificate it trusts: set a client certificate and key (CLI: --tls-cert FILE --tls-key FILE)",
  'go.302bfc4b': "the TLS handshake with {1} failed: {2}",
  // backend/inference/speaker.go
  'go.c28cdd73': "server {1} has no speaker-embedding model ready (a model whose config says kind {2}, such as titanet-large): telling speakers apart needs one",
  'go.d591f8dc': "model {1} on {2} is not a speaker-embedding model NeMo Transcribe can use: {3}",
  'go.72cd8546': "span [{1}, {2}) is not within chunk {3} of {4} samples",
  'go.67f4e29b': "model {1} returned {2}: {3}",
  // backend/live/live.go
  'go.fca8c363': "cannot create the folder for live recordings {1}: {2}",
  'go.ecf7ce2a': "cannot start the recording in {1}: {2}",
  'go.09d77fad': "cannot create the recording's audio file: {1}",
  'go.a99db4c0': "cannot write the recording's audio: {1}",
  'go.9395660d': "cannot read the utterance at {1} back from the recording: {2}",
  'go.2db20a00': "the live session {1} did not close cleanly: {2} (the note in {3} lets Recover finish it)",
  // backend/localserver/faults.go
  'go.c52d9202': "Docker did not answer in time: it may still be starting; try again in a minute",
  'go.7724478c': "Docker refused this user: add your account to the docker-users group and sign in again",
  'go.5af0dbd5': "Docker refused this user: add your account to the docker group (sudo usermod -aG docker $USER) and log in again",
  'go.fc480aef': "the disk Docker keeps its images and volumes on is full: free some space (the server needs about {1} GB) and start again",
  'go.e2d7e4ef': "a download failed: this computer seems to be offline or cannot reach the image registry ({1}); connect to the internet and start again — the first start downloads about 10 GB",
  'go.5e5d1b57': "{1} failed: {2}",
  'go.595d1378': "{1} failed: {2}",
  // backend/localserver/lifecycle.go
  'go.0d22a1e5': "the local server has not been started yet: press Start",
  'go.097e775b': "the app cannot ask the local server whether it is ready (no prober)",
  'go.5521c6df': "the server's container disappeared while it was starting (removed outside the app?): press Start again",
  'go.57577abf': "the server stopped while starting (exit code {1}): see its log",
  'go.ecd04c8b': "the local server was not ready after {1}: see its log (a slow download may still be running; press Start again to keep waiting)",
  'go.e0faa6ad': "the start was stopped before the server was ready",
  'go.3c456489': "the local server has not been started yet, so there is no log",
  // backend/localserver/localserver.go
  'go.eef3746a': "writing the local server's files failed: {1}",
  'go.6cb26a3f': "unknown server profile {1}: choose gpu or cpu",
  'go.3d731cd6': "tick at least one model for the local server to load",
  'go.c7e33d9f': "there is no model {1} for the local server (available: {2})",
  'go.acf0192e': "port {1} is not a port number (1 to 65535)",
  'go.01ef3291': "the server's three ports must differ (gRPC {1}, HTTP {2}, metrics {3})",
  'go.4188313e': "port {1} on {2} is already in use by another program: stop that program or choose another port for the local server",
  // backend/secrets/clientkey.go
  'go.bbd8c419': "cannot read the key file: {1}",
  'go.66d40249': "the key in {1} is protected by a passphrase, which the app does not take: save an unencrypted copy (openssl pkey -in {2} -out key.pem), choose that copy, then delete it; the app keeps the key in the system keyring",
  'go.30459ee1': "{1} holds no private key in PEM form (a block that begins -----BEGIN PRIVATE KEY-----): choose the key file of the client certificate",
  'go.fd8a773e': "cannot read the client certificate: {1}",
  'go.0cd7e788': "the key in {1} is not the key of the certificate {2}: choose the key that was made with that certificate",
  'go.0e84809a': "{1} holds no certificate in PEM form (a block that begins -----BEGIN CERTIFICATE-----): choose the client certificate file",
  'go.1ec9dd6c': "the key in {1} cannot be read: it is damaged or of a kind Go does not support (use RSA, ECDSA or Ed25519)",
  'go.5626f15d': "cannot use the key in {1} with the certificate {2}: {3}",
  // backend/secrets/conn.go
  'go.ccfe2908': "the client key ({1}) is not in the keyring: choose the key file again in Settings",
  // backend/transcribe/diarize.go
  'go.c9deb830': "diarizing a stored transcript needs the app's history, and this engine keeps none",
  'go.9b42378c': "the history has no entry {1}",
  'go.e2f6e8ec': "the audio of this transcript is gone: it is no longer in the cache folder {1}, and {2} no longer exists; put the file back there to find its speakers",
  'go.d6a60f51': "{1} has changed since it was transcribed, and the copy transcribed then is no longer in the cache: transcribe it again to find its speakers",
  // backend/transcribe/engine.go
  'go.3dcb036b': "chunks of {1} s are too long: at most {2} s",
  'go.f09d5459': "cannot open the app's database in {1}: {2}",
  'go.94e6581e': "the connection settings changed {1} times while chunk {2} was being sent: try again",
  // backend/transcribe/output.go
  'go.a036805a': "cannot create output folder {1}: {2}",
  'go.e3eb7961': "no name for the output files",
  'go.6d2bcd2f': "cannot render {1}: {2}",
  'go.1f1936d4': "cannot check output file {1}: {2}",
  // backend/transcribe/plan.go
  'go.411f7dfc': "decoder {1}: use auto, builtin or ffmpeg",
  // backend/transcribe/queue.go
  'go.bfd49049': "the work on this file was interrupted before it finished (a connection closed or was cancelled): retry it",
  // backend/transcribe/run.go
  'go.bdc4fbb2': "chunk length {1} s is not between 1 and {2} s",
  'go.17f4c375': "waiting for model {1} to load ({2}, {3} so far)",
  'go.fdf72893': "retrying chunk {1} (attempt {2} of {3}): {4}",
  'go.58967685': "the same audio is being transcribed for another file: waiting to reuse its result",
  'go.8f7e3be9': "finding the speakers",
  'go.e90b0342': "the file holds no audio samples",
  'go.89cb15ba': "the file is empty: there is nothing to transcribe",
  'go.239ccf65': "the file has no sound track",
  'go.4c688e89': "ffmpeg failed to decode the file: {1}",
  'go.11b44335': "the channel chosen does not fit this file: {1} (channels are counted from 0)",
  'go.c5b3f4cc': "not an audio file this build can read: {1}",
  'go.e95ab02e': "the audio file is damaged: {1}",
  'go.93b9c3aa': "cannot read the audio: {1}",
  'go.9fd053ed': "cannot use the app's database: {1}",
  // backend/transcribe/speakers.go
  'go.a24e695c': "the connection settings changed {1} times while the speakers of chunk {2} were asked for: try again",
  'go.d80084a2': "speaker counts must not be negative",
  'go.3d11b046': "give either an exact number of speakers or a minimum and maximum, not both",
  'go.d00ed1dc': "at least {1} speakers but at most {2}: the minimum must not be above the maximum",
  'go.1ba013e7': "the speakers could not be told apart: {1}",
} as const;
