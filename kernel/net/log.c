/* log.c — net_logf: the console's tiny printf (formats in net.h). */
#include <stdarg.h>
#include "net.h"

#define LINE_MAX 160

static char line[LINE_MAX];
static unsigned line_len;

static void emit(char c)
{
    if (line_len < LINE_MAX - 1)
        line[line_len++] = c;
}

static void emit_dec(uint32_t v)
{
    if (v >= 10)
        emit_dec(v / 10);
    emit((char)('0' + v % 10));
}

static void emit_hex(uint8_t b)
{
    emit("0123456789abcdef"[b >> 4]);
    emit("0123456789abcdef"[b & 15]);
}

void net_logf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line_len = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(*fmt);
            continue;
        }
        /* One va_arg per conversion, read as a whole 64-bit argument slot: integers (promoted
         * to int) sit in its low half, which is all %u, %x and %I look at. */
        uintptr_t arg = va_arg(ap, uintptr_t);
        /* %I and %M are both bytes with separators: 4 decimal from the value, 6 hex from memory. */
        const uint8_t *bytes = *++fmt == 'I' ? (const uint8_t *)&arg : (const uint8_t *)arg;
        switch (*fmt) {
        case 's':
            for (const char *s = (const char *)arg; *s; s++)
                emit(*s);
            break;
        case 'u':
            emit_dec((uint32_t)arg);
            break;
        case 'x':
            emit_hex((uint8_t)arg);
            break;
        case 'I':
        case 'M':
            for (int i = 0; i < (*fmt == 'I' ? 4 : 6); i++) {
                if (i)
                    emit(*fmt == 'I' ? '.' : ':');
                if (*fmt == 'I')
                    emit_dec(bytes[i]);
                else
                    emit_hex(bytes[i]);
            }
            break;
        default:
            va_end(ap);
            return;  /* a bad format is a bug: printing nothing makes it visible */
        }
    }
    va_end(ap);
    line[line_len] = 0;
    plat_log(line);
}
