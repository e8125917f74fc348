"""`python -m bench`: the throughput benchmark (see bench/throughput.py for the options)."""

from bench.throughput import main

if __name__ == "__main__":
    main()
