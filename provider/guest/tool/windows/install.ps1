<#
.SYNOPSIS
  Installs pulumi-esx-guest.ps1 as a startup scheduled task running as SYSTEM (Windows Server 2016 and later).
  Run from an elevated PowerShell in the folder holding pulumi-esx-guest.ps1. Re-running updates the install.
#>
[CmdletBinding()]
param(
  [string]$InstallDir = "$env:ProgramFiles\pulumi-esx",
  [switch]$RunNow
)
$ErrorActionPreference = 'Stop'
$TaskName = 'pulumi-esx-guest'
$Source = 'pulumi-esx-guest'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) { throw 'install.ps1 must run elevated (as Administrator)' }

New-Item -ItemType Directory -Path $InstallDir -Force | Out-Null
$script = Join-Path $InstallDir 'pulumi-esx-guest.ps1'
Copy-Item -Path (Join-Path $PSScriptRoot 'pulumi-esx-guest.ps1') -Destination $script -Force

if (-not [System.Diagnostics.EventLog]::SourceExists($Source)) { New-EventLog -LogName Application -Source $Source }

$action = New-ScheduledTaskAction -Execute "$env:SystemRoot\System32\WindowsPowerShell\v1.0\powershell.exe" `
  -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$script`""
$trigger = New-ScheduledTaskTrigger -AtStartup
$taskPrincipal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable `
  -ExecutionTimeLimit (New-TimeSpan -Minutes 5) -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1)
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $taskPrincipal -Settings $settings `
  -Description 'Applies the network configuration pulumi-esx put in machine.id' -Force | Out-Null
Write-Host "installed $script as scheduled task '$TaskName' (at startup, as SYSTEM)"

if ($RunNow) { Start-ScheduledTask -TaskName $TaskName }
