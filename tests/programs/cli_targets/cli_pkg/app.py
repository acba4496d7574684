async def main() -> None:
    print("PKG APP RAN")
