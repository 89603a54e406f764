#!/usr/bin/env python3
"""A TCP relay standing in for a slow, lossy wide-area link in Allot's multi-site test.

Every byte is held back DELAY seconds in each direction (order kept, so a stream is delayed, not slowed), and
a share of new connections is dropped at once (closed before a byte is relayed), chosen by a seeded random
generator so a run can be repeated. The kernel's netem queueing discipline would do this in the network
stack, but is not available everywhere; this runs as an ordinary process, inside the server's network
namespace.

    relay.py --listen 10.0.2.1:0 --target 127.0.0.1:7070 --delay 0.2 --drop 0.01 --seed 7

prints "relay listening on HOST:PORT" once it accepts connections, then one line per dropped connection.
"""

import argparse
import asyncio
import random
import sys


def address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


async def carry(reader, writer, delay):
    """Copies reader to writer, each chunk DELAY seconds after it arrived; the end of input is carried too."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def receive():
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((loop.time() + delay, b""))

    receiving = asyncio.ensure_future(receive())
    try:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        return
    finally:
        receiving.cancel()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, type=address)
    parser.add_argument("--target", required=True, type=address)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds added in each direction")
    parser.add_argument("--drop", type=float, default=0.01, help="share of new connections dropped")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    chance = random.Random(options.seed)
    counts = {"accepted": 0, "dropped": 0}

    async def serve(client_reader, client_writer):
        counts["accepted"] += 1
        if chance.random() < options.drop:
            counts["dropped"] += 1
            print(f"dropped connection {counts['accepted']} ({counts['dropped']} so far)", flush=True)
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*options.target)
        except OSError:
            client_writer.transport.abort()
            return
        await asyncio.gather(
            carry(client_reader, server_writer, options.delay),
            carry(server_reader, client_writer, options.delay),
        )
        for writer in (server_writer, client_writer):
            writer.close()

    server = await asyncio.start_server(serve, *options.listen)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"relay listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
