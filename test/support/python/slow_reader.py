"""A client of an event stream that reads nothing for a while, then everything (the events test's slow reader).

usage: slow_reader.py PORT PATH TOKEN SECONDS; prints what it received (the HTTP body, chunked as sent).
"""
import socket
import sys
import time

port, path, token, pause = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
time.sleep(pause)
received = bytearray()
s.settimeout(5)
try:
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        received += chunk
        if b"event: overflow" in received[-(1 << 17):]:
            # the rest is the end of the chunked body
            s.settimeout(0.5)
except socket.timeout:
    pass
sys.stdout.write(received.decode("utf-8", "replace"))
