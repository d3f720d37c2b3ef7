// Log lines in Go's log format (date, time with microseconds, message) on
// stderr, as the grpc-go peer writes them: the bench harness waits for
// `address=HOST:PORT listening`, `replay starting` and `stopped`.
#pragma once

void Logf(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Logs and exits 1, as Go's log.Fatalf.
[[noreturn]] void Fatalf(const char* format, ...) __attribute__((format(printf, 1, 2)));
