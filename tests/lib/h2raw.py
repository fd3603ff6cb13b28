"""A raw HTTP/2 gRPC client (Debian's python3-h2) for what well-behaved gRPC clients never do:
never reading replies (a zero flow-control window), or opening streams and resetting them at once.

    c = RawH2("127.0.0.1:50051", initial_window=0)   # connects, sends the preface and SETTINGS
    c.start_call("/pkg.Svc/Method", request_bytes)   # HEADERS + DATA(end_stream); returns the id
    c.reset(stream_id)                                # RST_STREAM (CANCEL)
    c.flush(); c.pump_in_background(); c.close()
The background pump answers PINGs and SETTINGS (so keepalive does not end the connection) but
never acknowledges received data: no WINDOW_UPDATE is ever sent."""

import socket
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings


class RawH2:
    def __init__(self, address, initial_window=65535, max_streams=None):
        host, port = address.rsplit(":", 1)
        self.authority = address
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                         header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window})
        self.lock = threading.Lock()
        self.closed = False
        self.events = []         # ConnectionTerminated events (a GOAWAY), or "goaway"
        self.ended = set()       # streams the server ended or reset
        self.flush()
        self._thread = None

    def flush(self):
        with self.lock:
            data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def start_call(self, path, body, flush=True):
        with self.lock:
            sid = self.conn.get_next_available_stream_id()
            self.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", path),
                                         (":authority", self.authority),
                                         ("content-type", "application/grpc"), ("te", "trailers")])
            self.conn.send_data(sid, b"\x00" + len(body).to_bytes(4, "big") + body, end_stream=True)
        if flush:
            self.flush()
        return sid

    def reset(self, sid, flush=True):
        with self.lock:
            try:
                self.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            except h2.exceptions.StreamClosedError:
                pass
        if flush:
            self.flush()

    def _pump(self):
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            with self.lock:
                try:
                    events = self.conn.receive_data(data)
                except h2.exceptions.ProtocolError:
                    # h2 refuses frames that follow a GOAWAY in the same read (the server's PING
                    # after it): the connection is closed by then, the GOAWAY was the reason
                    if self.conn.state_machine.state == h2.connection.ConnectionState.CLOSED:
                        self.events.append("goaway")
                    break
                for ev in events:
                    if isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                        self.ended.add(ev.stream_id)
                    if isinstance(ev, h2.events.ConnectionTerminated):
                        self.events.append(ev)
            try:
                self.flush()  # PING and SETTINGS acks only: received data is never acknowledged
            except OSError:
                break

    def pump_in_background(self):
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self._thread:
            self._thread.join(5)
