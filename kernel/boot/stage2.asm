; stage2.asm — what the MBR jumps to: expands the compressed kernel (tools/lzg.c) from here
; to KERNEL_RUN, undoes its branch filter and jumps to its entry (boot/entry.asm). The kernel is linked to run at
; KERNEL_RUN; only this stub and the compressed bytes are on disk.

bits 64
extern STACK_TOP, KERNEL_RUN
global stage2_start

section .text
; stage2_start — entry from the MBR; expands the stream (format in tools/lzg.c).
; IN:  64-bit mode, interrupts off, 0–4 GiB identity-mapped, DF clear.
; OUT: never returns: once rdi reaches the end of the expanded kernel, unfilter runs.
; Registers while expanding: rsi = stream, rdi = output, rdx = end of output, rbp = offset of
; the last match, bl = bit buffer (see getbit), rcx = count.
stage2_start:
    mov esp, STACK_TOP
    mov esi, kernel_lz
    mov edi, KERNEL_RUN
    mov edx, KERNEL_RUN + KERNEL_RUN_BYTES   ; KERNEL_RUN_BYTES: nasm -D, the expanded size
    mov bl, 0x80                  ; no bits left: the first getbit takes a bit byte
.literals:
    call gamma
    rep movsb
    call next                     ; after literals: CF = 1 a match, 0 a repeat
    jc .match
    call gamma                    ; repeat: length, at the last offset
.copy:
    push rsi
    mov rsi, rdi
    sub rsi, rbp
    rep movsb                     ; byte by byte, so an overlapping copy repeats a pattern
    pop rsi
    call next                     ; after a match: CF = 1 a match, 0 literals
    jnc .literals
.match:
    call gamma                    ; (offset - 1) / 256 + 1
    dec ecx
    mov ch, cl                    ; (offset - 1) / 256 < 256: the kernel is under 64 KiB
    lodsb                         ; (offset - 1) % 256
    mov cl, al
    inc ecx
    mov ebp, ecx
    call gamma                    ; length - 1
    inc ecx
    jmp .copy

; next — the bit that says what comes next; once the kernel is all expanded, unfilter instead.
; IN: rdi = output, rdx = end. OUT: as getbit (or no return: the stack is reset in entry.asm).
next:
    cmp rdi, rdx
    jae unfilter
; getbit — the next bit of the stream, MSB first.
; IN: bl = bits left, followed by a 1 bit that marks their end; rsi = stream (a new bit byte).
; OUT: CF = the bit; bl updated; rsi advanced when a bit byte was taken.
getbit:
    add bl, bl
    jnz .ret                      ; the end marker is still in bl: CF is a data bit
    mov bl, [rsi]                 ; bl was only the marker: take the next bit byte
    inc rsi
    adc bl, bl                    ; its top bit to CF, a new marker (CF = 1) in at the bottom
.ret:
    ret

; gamma — an Elias-gamma number: (1, bit) pairs each append the bit, a 0 ends it.
; IN: the stream as getbit. OUT: ecx = the number (>= 1; rcx's upper half 0).
gamma:
    xor ecx, ecx
    inc ecx
.bit:
    call getbit
    jnc .ret
    call getbit
    adc ecx, ecx
    jmp .bit
.ret:
    ret

; unfilter — undo lzg.c's branch filter: at each E8/E9 byte from the start, while 5 bytes are
; left, subtract from the next 4 bytes (rel32) the offset of the byte after them, and skip them.
; IN: rdx = end of the expanded kernel. OUT: never returns: jumps to KERNEL_RUN.
unfilter:
    mov esi, KERNEL_RUN
    mov ebp, esi
    sub edx, 4                    ; a byte at rsi < rdx has 4 bytes after it
.scan:
    lodsb
    and al, 0xFE
    cmp al, 0xE8
    jne .next
    lea eax, [rsi + 4]
    sub eax, ebp                  ; the offset of the byte after the rel32
    sub [rsi], eax
    lodsd                         ; skip the rel32
.next:
    cmp rsi, rdx
    jb .scan
    jmp KERNEL_RUN

kernel_lz:
    incbin KERNEL_LZ              ; nasm -D: the compressed kernel
