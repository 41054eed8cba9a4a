# SC204 async-syntax: coroutines and asynchronous iteration.
async def fetch():  # error: SC204
    return 1
# ---
async def fetch_all(source):  # error: SC204
    data = await source()  # error: SC204
    async for item in source:  # error: SC204
        pass
    async with source as handle:  # error: SC204
        pass
    return [x async for x in source]  # error: SC204
# ---
value = await thing  # error: SC204
# ---
class Client:
    async def close(self):  # error: SC204
        pass
# ---
# Generators are the synchronous alternative.
def numbers(limit):
    n = 0
    while n < limit:
        yield n
        n += 1
def evens(limit):
    yield from (n for n in numbers(limit) if n % 2 == 0)
print(list(evens(10)), sum(numbers(5)))
