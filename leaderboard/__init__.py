"""Leaderboard: papers' reported numbers, tables (md/csv/tex/json), the static HTML board and plots."""
