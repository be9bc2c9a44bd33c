; stage2.asm — what the MBR jumps to: expands the compressed kernel (tools/lzss.c) from here
; to KERNEL_RUN and jumps to its entry (boot/entry.asm). The kernel is linked to run at
; KERNEL_RUN; only this stub and the compressed bytes are on disk.

bits 64
extern STACK_TOP, KERNEL_RUN
global stage2_start

section .text
; stage2_start — entry from the MBR.
; IN:  64-bit mode, interrupts off, 0–4 GiB identity-mapped, DF clear.
; OUT: never returns: jumps to KERNEL_RUN.
stage2_start:
    mov esp, STACK_TOP
    mov esi, kernel_lz
    mov edi, KERNEL_RUN
    mov edx, KERNEL_RUN + KERNEL_RUN_BYTES   ; KERNEL_RUN_BYTES: nasm -D, the expanded size
    call lzss_decode
    jmp KERNEL_RUN

; lzss_decode — expand an LZSS stream (format in tools/lzss.c).
; IN:  rsi = stream, rdi = destination, rdx = end of destination.
; OUT: rdi = rdx; rsi past the bytes used; rax, rbx, rcx clobbered.
lzss_decode:
    xor ebx, ebx
    inc ebx                       ; ebx = 1: no control bits left
.item:
    cmp rdi, rdx
    jae .done
    cmp ebx, 1
    jne .bit
    lodsb
    mov bl, al
    mov bh, 1                     ; ebx = 0x100 | control byte: the 1 marks when 8 bits are used
.bit:
    shr ebx, 1                    ; CF = this item's flag
    jnc .match
    movsb                         ; literal
    jmp .item
.match:
    lodsw
    movzx eax, ax                 ; (offset - 1) << 4 | (length - 3)
    mov ecx, eax
    and ecx, 15
    add ecx, 3
    shr eax, 4
    inc eax
    push rsi
    mov rsi, rdi
    sub rsi, rax
    rep movsb                     ; byte by byte, so an overlapping copy repeats a pattern
    pop rsi
    jmp .item
.done:
    ret

kernel_lz:
    incbin KERNEL_LZ              ; nasm -D: the compressed kernel
