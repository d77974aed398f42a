"""What keeps a long-running server honest: deadlines on every await, supervised tasks, log lines
throttled under pressure, and live frames before background work. Imports nothing of framecast."""
