# limits: source=20
total = 1  # error: SC002
total += 2
print(total)
# ---
# limits: source=200
total = 1
total += 2
print(total)
# ---
print("the default limit is one mebibyte")
