import { DEVICE_ID_MAX_LENGTH, DEVICE_ID_RULE, deviceIdError } from '@fleetstream/domain';
import { BadRequestException, Injectable, Param, PipeTransform } from '@nestjs/common';
import { ApiParam, ApiResponse } from '@nestjs/swagger';

/**
 * The device-id contract as an OpenAPI pattern, read off the domain rule itself (which characters
 * pass it one by one; it allows ASCII only), so the document and the 400 cannot drift apart.
 */
export const DEVICE_ID_SCHEMA_PATTERN = `^[${Array.from({ length: 128 }, (_, code) => String.fromCharCode(code))
  .filter((character) => deviceIdError(character) === null)
  .map((character) => (/\w/.test(character) ? character : `\\${character}`))
  .join('')}]{1,${DEVICE_ID_MAX_LENGTH}}$`;

/** Refuses a device id outside the contract with a 400 that states the rule. */
@Injectable()
export class DeviceIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const error = deviceIdError(value);
    if (error !== null) throw new BadRequestException(error);
    return value;
  }
}

/**
 * The `:deviceId` path parameter, checked against the device-id contract (400 otherwise) and
 * documented as such in OpenAPI. Every device route takes its id through this.
 */
export function DeviceIdParam(): ParameterDecorator {
  return (target, method, index) => {
    Param('deviceId', DeviceIdPipe)(target, method, index);
    // parameter decorators run after the method exists, so its OpenAPI metadata can be added here
    const descriptor = Object.getOwnPropertyDescriptor(target, method!)!;
    ApiParam({ name: 'deviceId', description: DEVICE_ID_RULE, schema: { type: 'string', minLength: 1, maxLength: DEVICE_ID_MAX_LENGTH, pattern: DEVICE_ID_SCHEMA_PATTERN } })(target, method!, descriptor);
    ApiResponse({ status: 400, description: `the device id breaks the contract: ${DEVICE_ID_RULE}` })(target, method!, descriptor);
  };
}
