"""Serves Debian's Keystone (python3-keystone) for tests: one process, one thread (wsgiref) on 127.0.0.1.

Single-threaded on purpose: keystone's sqlite connections must not cross threads. Requests are short and
HTTP/1.0 (one request per connection), so one thread serves the provider and Glance's auth_token middleware.

Usage: python3 serve.py <config-file> <port>. Stops on SIGTERM/SIGINT. Prints "READY <url>" once listening.
"""
import os
import signal
import sys
from wsgiref import simple_server


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):  # the access log would only fill stderr
        pass


class Server(simple_server.WSGIServer):
    allow_reuse_address = True
    request_queue_size = 64


def main():
    conf, port = sys.argv[1], int(sys.argv[2])
    del sys.argv[1:]  # keystone parses the command line as oslo.config options
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = conf
    os.environ.pop("OS_KEYSTONE_CONFIG_DIR", None)
    from keystone.server.wsgi import initialize_public_application

    app = initialize_public_application()
    server = simple_server.make_server("127.0.0.1", port, app, server_class=Server, handler_class=QuietHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY http://127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
