"""Operator endpoints: list instruments, issue and redeem cash, post prices, pause and unpause."""
