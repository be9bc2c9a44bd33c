; stage2.asm — what the MBR jumps to: expands the compressed kernel (tools/lzg.c) from here
; to KERNEL_RUN and jumps to its entry (boot/entry.asm). The kernel is linked to run at
; KERNEL_RUN; only this stub and the compressed bytes are on disk.

bits 64
extern STACK_TOP, KERNEL_RUN
global stage2_start

section .text
; stage2_start — entry from the MBR; expands the stream (format in tools/lzg.c).
; IN:  64-bit mode, interrupts off, 0–4 GiB identity-mapped, DF clear.
; OUT: never returns: jumps to KERNEL_RUN once rdi reaches the end of the expanded kernel.
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
    mov ch, cl
    lodsb                         ; (offset - 1) % 256
    mov cl, al
    inc ecx
    mov ebp, ecx
    call gamma                    ; length - 1
    inc ecx
    jmp .copy

; next — the bit that says what comes next, or the kernel once it is all expanded.
; IN: rdi = output, rdx = end. OUT: as getbit; jumps to KERNEL_RUN (stack is reset there).
next:
    cmp rdi, rdx
    jae KERNEL_RUN
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

kernel_lz:
    incbin KERNEL_LZ              ; nasm -D: the compressed kernel
