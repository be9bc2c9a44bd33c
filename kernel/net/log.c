/* log.c — net_format, the stack's tiny printf (formats in net.h), and net_logf on top of it. */
#include <stdarg.h>
#include "net.h"

#define LINE_MAX 160

struct out {
    char *p, *end;  /* next byte, and the last byte kept for the NUL */
};

static void emit(struct out *o, char c)
{
    if (o->p < o->end)
        *o->p++ = c;
}

static void emit_dec(struct out *o, uint32_t v)
{
    if (v >= 10)
        emit_dec(o, v / 10);
    emit(o, (char)('0' + v % 10));
}

static void emit_hex(struct out *o, uint8_t b)
{
    emit(o, "0123456789abcdef"[b >> 4]);
    emit(o, "0123456789abcdef"[b & 15]);
}

/* Every argument is read as the type it was passed as after the default promotions: a pointer
 * for %s and %M, and unsigned int for %u, %x and %I (uint8_t/uint16_t arrive as int, which
 * va_arg may read as unsigned int for the values they hold; uint32_t is unsigned int). */
static char *vformat(char *out, size_t cap, const char *fmt, va_list ap)
{
    struct out o = { out, out + cap - 1 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(&o, *fmt);
            continue;
        }
        char conv = *++fmt;
        unsigned v = 0;
        const char *s = (const char *)&v;   /* %I: the value's bytes, in network order */
        if (conv == 's' || conv == 'M')
            s = va_arg(ap, const char *);
        else
            v = va_arg(ap, unsigned);
        if (conv == 's')
            while (*s)
                emit(&o, *s++);
        else if (conv == 'u')
            emit_dec(&o, v);
        else if (conv == 'x')
            emit_hex(&o, (uint8_t)v);
        else                                /* %I and %M: 4 decimal or 6 hex bytes */
            for (int i = 0; i < (conv == 'I' ? 4 : 6); i++) {
                if (i)
                    emit(&o, conv == 'I' ? '.' : ':');
                if (conv == 'I')
                    emit_dec(&o, (uint8_t)s[i]);
                else
                    emit_hex(&o, (uint8_t)s[i]);
            }
    }
    *o.p = 0;
    return o.p;
}

char *net_format(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out = vformat(out, cap, fmt, ap);
    va_end(ap);
    return out;
}

void net_logf(const char *fmt, ...)
{
    static char line[LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vformat(line, sizeof line, fmt, ap);
    va_end(ap);
    plat_log(line);
}
