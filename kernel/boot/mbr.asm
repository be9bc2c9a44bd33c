; mbr.asm — exoform's BIOS boot sector: real mode → 64-bit long mode in 446 bytes.
;
; The BIOS loads this sector at MBR_LOAD and jumps to it. It prints "exo: mbr", reads LBA 1–47
; (kernel.bin and the configuration block) to KERNEL_LOAD, enables A20, stores the E820 map at
; E820_MAP, identity-maps 0–4 GiB with 2 MiB pages, switches from real mode straight to long
; mode and jumps to KERNEL_LOAD (boot/entry.asm). Every address comes from layout.ld; mbr.ld
; fails the build when the code outgrows 446 bytes. Interrupts stay off from here on.

bits 16
extern E820_MAP, E820_MAP_END, PAGE_TABLES, BOOT_STACK, KERNEL_LOAD, LOAD_SECTORS
global mbr_start

COM1        equ 0x3F8
SMAP        equ 0x534D4150        ; 'SMAP': the E820 signature
E820_SIZE   equ 24                ; bytes per E820 entry (ACPI 3.0 form)
PAGE        equ 0x1000
PT_LINK     equ 0x03              ; page-table entry: present, writable
PT_2MIB     equ 0x83              ; page-directory entry: present, writable, 2 MiB page
CODE64      equ 8                 ; GDT selector of the 64-bit code segment

section .text

; mbr_start — entry from the BIOS.
; IN:  dl = boot drive; CS:IP = 0000:7C00 (or 07C0:0000 on odd BIOSes).
; OUT: never returns: jumps to KERNEL_LOAD in 64-bit mode, or halts after an error line.
mbr_start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, BOOT_STACK
    jmp 0:.cs_zero                ; make CS 0 so near addresses are linear addresses
.cs_zero:
    cld
    push dx                       ; keep the boot drive for INT 13h

    mov si, uart_setup            ; COM1: 115200 8N1, FIFO on, no interrupts
    mov cx, UART_STEPS
.uart:
    lodsw                         ; al = port low byte, ah = value
    mov dh, COM1 >> 8
    mov dl, al
    mov al, ah
    out dx, al
    loop .uart
    call print                    ; si = msg_mbr, right after the table

    pop dx                        ; dl = boot drive
    mov si, dap
    mov ah, 0x42                  ; INT 13h extended read: LBA 1–47 → KERNEL_LOAD
    int 0x13
    mov si, msg_disk
    jc fail

    mov ax, 0x2401                ; A20 on: ask the BIOS, then the fast A20 gate
    int 0x15
    in al, 0x92
    or al, 2
    out 0x92, al

    mov eax, 0x80000001           ; long mode supported? (CPUID.80000001h:EDX.LM)
    cpuid
    bt edx, 29
    mov si, msg_cpu
    jnc fail

    mov di, E820_MAP + 4          ; E820 map: entries after a u32 count
    xor ebx, ebx
    xor ebp, ebp
.e820:
    mov eax, 0xE820
    mov ecx, E820_SIZE
    mov edx, SMAP
    mov dword [di + 20], 1        ; ACPI 3.0 "valid" bit, in case the BIOS leaves it alone
    int 0x15
    jc .e820_done                 ; carry: end of the list, or no E820 at all
    cmp eax, SMAP
    jne .e820_done
    inc bp
    add di, E820_SIZE
    test ebx, ebx                 ; ebx = 0: that was the last entry
    jz .e820_done
    cmp di, E820_MAP_END - E820_SIZE
    jbe .e820
.e820_done:
    mov [E820_MAP], ebp

    mov di, PAGE_TABLES           ; page tables: PML4, PDPT, PD0–PD3, zeroed first
    mov cx, 6 * PAGE / 4
    xor eax, eax
    rep stosd
    mov dword [PAGE_TABLES], PAGE_TABLES + PAGE + PT_LINK          ; PML4[0] → PDPT
    mov di, PAGE_TABLES + PAGE
    mov eax, PAGE_TABLES + 2 * PAGE + PT_LINK
    mov edx, PAGE
    mov cx, 4
    call fill                     ; PDPT[0–3] → PD0–PD3
    mov di, PAGE_TABLES + 2 * PAGE
    mov eax, PT_2MIB
    mov edx, 0x200000
    mov cx, 4 * 512
    call fill                     ; PD0–PD3: 2048 × 2 MiB = 0–4 GiB, virtual = physical

    mov eax, 0xA0                 ; CR4.PAE | CR4.PGE
    mov cr4, eax
    mov eax, PAGE_TABLES
    mov cr3, eax
    mov ecx, 0xC0000080           ; EFER
    rdmsr
    or ah, 1                      ; EFER.LME
    wrmsr
    lgdt [gdt]
    mov eax, cr0
    or eax, 0x80000001            ; CR0.PG | CR0.PE together: real mode → long mode
    mov cr0, eax
    jmp CODE64:KERNEL_LOAD

; fill — write cx page-table entries of 8 bytes; their low halves are eax, eax+edx, …
; IN:  di = first entry (high halves already zero), eax = first value, edx = step, cx = count.
; OUT: di = past the last entry; eax, cx clobbered.
fill:
    stosd
    scasd                         ; skip the high half (di += 4; flags only)
    add eax, edx
    loop fill
    ret

; fail — print an error line and halt for good.
; IN:  si = message. OUT: never returns.
fail:
    call print
.halt:
    hlt
    jmp .halt

; print — write a NUL-terminated string to COM1, waiting for the transmitter each byte.
; IN:  si = string. OUT: si = past the NUL; al, ah, dx clobbered.
print:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5              ; line status register
.wait:
    in al, dx
    test al, 0x20                 ; transmitter holding register empty?
    jz .wait
    mov al, ah
    mov dl, COM1 & 0xFF
    out dx, al
    jmp print
.done:
    ret

; COM1 setup: (port low byte, value) pairs, all at 0x3xx.
uart_setup:
    db 0xF9, 0x00                 ; IER: no interrupts
    db 0xFB, 0x80                 ; LCR: DLAB on
    db 0xF8, 0x01                 ; divisor low: 115200 baud
    db 0xF9, 0x00                 ; divisor high
    db 0xFB, 0x03                 ; LCR: 8 data bits, no parity, 1 stop bit, DLAB off
    db 0xFA, 0xC7                 ; FCR: FIFO on and cleared
    db 0xFC, 0x03                 ; MCR: DTR, RTS
UART_STEPS equ ($ - uart_setup) / 2
msg_mbr:  db 13, 10, "exo: mbr", 13, 10, 0  ; own line: the BIOS leaves its cursor mid-line
msg_disk: db "exo: mbr disk read failed", 13, 10, 0
msg_cpu:  db "exo: mbr no long mode", 13, 10, 0

; INT 13h AH=42h disk address packet.
dap:
    db 16, 0
    dw LOAD_SECTORS               ; sectors
    dw KERNEL_LOAD, 0             ; buffer offset, segment
    dq 1                          ; first LBA

; GDT: the null descriptor's slot doubles as the LGDT operand (limit, base).
gdt:
    dw gdt_end - gdt - 1
    dd gdt
    dw 0
    dq 0x00209A0000000000         ; 64-bit code: present, ring 0, execute/read, L=1
gdt_end:
