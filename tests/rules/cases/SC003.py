# input: escaped-bytes
\xa7\x0d\r\n\x00\x00\x00\x00 looks like a .pyc header  # error: SC003
# ---
# input: escaped-bytes
\x55\x0d\r\n\x00\x00\x00\x00 a .pyc header of another CPython 3 release  # error: SC003
# ---
# input: escaped-bytes
x = 1
y = 2\x00  # error: SC003
# ---
# input: escaped-bytes
x = "\\r\\n in a string is fine"
print(x)
# ---
print("plain source text")
