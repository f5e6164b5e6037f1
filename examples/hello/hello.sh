#!/bin/sh
# Prints the greeting; the image has no shell, so this documents intent rather than runs.
cat "${GREETING_FILE:-/usr/share/hello/greeting.txt}"
