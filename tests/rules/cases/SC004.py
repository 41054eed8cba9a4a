# input: escaped-bytes
name = '\xff'  # error: SC004
# ---
# input: escaped-bytes
name = 'caf\xe9'  # error: SC004
# ---
# input: escaped-bytes
surrogate = '\xed\xa0\x80'  # error: SC004
# ---
# input: escaped-bytes
name = 'caf\xc3\xa9'
# ---
# input: escaped-bytes
\xef\xbb\xbfprint("a UTF-8 byte order mark is accepted")
# ---
name = "café, naïve, 日本語"
print(name)
