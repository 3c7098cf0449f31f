"""A TCP proxy that delays every chunk by a fixed time in each direction (order kept).

The live-session benchmark uses it to put Postgres "one network hop away" on a single machine
(`DB_DELAY_MS` in bench/live-session.sh), as in a deployment where the database runs on its own
host. asyncio's timers are coarse: any delay above 0 comes out at about 1.1 ms each way on the
machines measured here, so the script prints the round trip it really got.

Usage: delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS   (prints READY once listening)
"""
import asyncio
import sys
import time

LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000


async def pipe(reader, writer):
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + DELAY, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(read(), write(), return_exceptions=True)


async def handle(client_reader, client_writer):
    try:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(
        pipe(client_reader, target_writer),
        pipe(target_reader, client_writer),
        return_exceptions=True,
    )


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
