#include "log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace {

void Write(const char* format, va_list args) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm local;
  localtime_r(&now.tv_sec, &local);
  char line[1024];
  int at = static_cast<int>(strftime(line, sizeof line, "%Y/%m/%d %H:%M:%S", &local));
  at += snprintf(line + at, sizeof line - at, ".%06ld ", now.tv_nsec / 1000);
  // Room kept for the newline: a long message is cut, never the line's end.
  int length = vsnprintf(line + at, sizeof line - at - 1, format, args);
  at = length < 0 ? at : at + length;
  at = at < static_cast<int>(sizeof line) - 2 ? at : static_cast<int>(sizeof line) - 2;
  line[at] = '\n';
  line[at + 1] = '\0';
  // One fputs per line: stdio locks the stream, so threads' lines never interleave.
  fputs(line, stderr);
}

}  // namespace

void Logf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  Write(format, args);
  va_end(args);
}

void Fatalf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  Write(format, args);
  va_end(args);
  exit(1);
}
